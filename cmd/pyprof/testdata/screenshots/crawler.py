# An asyncio crawler: tasks fetch pages from a slow network, parse them and
# follow links, a few at a time.
import asyncio
import json


async def fetch(url):
    await asyncio.sleep(0.01)  # the network
    return json.dumps({"url": url, "links": [f"{url}/{i}" for i in range(3)], "body": "x" * 2000})


def parse(page):
    doc = json.loads(page)
    return [link for link in doc["links"] if link.count("/") < 4]


async def crawl(url, limit):
    async with limit:
        page = await fetch(url)
    links = parse(page)
    await asyncio.gather(*(crawl(link, limit) for link in links))


async def main():
    limit = asyncio.Semaphore(8)
    await asyncio.gather(*(crawl(f"site{i}", limit) for i in range(4)))


asyncio.run(main())
