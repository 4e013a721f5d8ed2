"""Unit tests of `make load`'s checks (load_compare.py): they find a changed attribute, an item
only one run has, an email sent twice, and a message left SENDING. No server."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load_compare  # noqa: E402


def message(key, status, ses_id=None, **more):
    item = {"pk": {"S": "SHOP#demo#CUST#c1"}, "sk": {"S": f"MSG#{key}"},
            "item": {"S": "message"}, "status": {"S": status}, **more}
    if ses_id:
        item["ses_message_id"] = {"S": ses_id}
    return item


def run(items, emails):
    return {"items": {f"{i['pk']['S']}|{i['sk']['S']}": i for i in items},
            "emails": [{"id": i, "destinations": [to], "raw_data": f"Subject: {subject}\r\n\r\nx"}
                       for i, to, subject in emails]}


CALM = run([message("a", "SENT", "calm-1"), message("b", "DEFERRED")],
           [("calm-1", "c1@example.nl", "Bedankt")])


class Checks(unittest.TestCase):
    def test_the_same_outcome_passes_whatever_ids_ses_gave(self):
        loaded = run([message("a", "SENT", "load-9"), message("b", "DEFERRED")],
                     [("load-9", "c1@example.nl", "Bedankt")])
        checks = load_compare.compare(loaded, CALM)
        self.assertEqual(checks["differences"], [])
        self.assertEqual(checks["emails_differ"], [])
        mail = checks["load_mail"]
        self.assertEqual((mail["emails"], mail["sent_records"], mail["unnamed_emails"]), (1, 1, []))
        self.assertEqual(mail["statuses"], {"SENT": 1, "DEFERRED": 1})

    def test_a_changed_attribute_and_a_missing_item_are_differences(self):
        loaded = run([message("a", "SENT", "load-9", attempts={"N": "2"})],
                     [("load-9", "c1@example.nl", "Bedankt")])
        differences = load_compare.compare(loaded, CALM)["differences"]
        self.assertEqual(len(differences), 2)
        self.assertIn("attempts differ", differences[0])
        self.assertIn("only in the calm replay", differences[1])

    def test_an_email_sent_twice_is_found(self):
        loaded = run([message("a", "SENT", "load-9"), message("b", "DEFERRED")],
                     [("load-8", "c1@example.nl", "Bedankt"), ("load-9", "c1@example.nl", "Bedankt")])
        checks = load_compare.compare(loaded, CALM)
        self.assertEqual(checks["load_mail"]["unnamed_emails"], ["load-8"])
        self.assertEqual(len(checks["emails_differ"]), 1)

    def test_a_message_left_sending_is_listed(self):
        loaded = run([message("a", "SENDING"), message("b", "DEFERRED")], [])
        mail = load_compare.mail_facts(loaded)
        self.assertEqual(mail["sending"], ["SHOP#demo#CUST#c1|MSG#a"])
        self.assertEqual(mail["sent_records"], 0)


if __name__ == "__main__":
    unittest.main()
