# An import-heavy start: most of the time goes to importing modules.
import argparse
import decimal
import email.mime.text
import http.client
import json
import logging
import xml.dom.minidom


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    doc = xml.dom.minidom.parseString("<a>" + "<b>x</b>" * 200 + "</a>")
    msg = email.mime.text.MIMEText(json.dumps([str(decimal.Decimal(i) / 7) for i in range(args.n)]))
    logging.getLogger("demo").debug("%d nodes, %d bytes", len(doc.documentElement.childNodes), len(msg.as_string()))


main()
