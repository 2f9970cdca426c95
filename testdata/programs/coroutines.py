"""Coroutines suspended and resumed by the event loop."""
import asyncio


async def leaf(i):
    await asyncio.sleep(0)
    return i


async def middle(i):
    return await leaf(i) + await leaf(i + 1)


async def main():
    return sum(await asyncio.gather(*(middle(i) for i in range(10))))


if __name__ == "__main__":
    asyncio.run(main())
