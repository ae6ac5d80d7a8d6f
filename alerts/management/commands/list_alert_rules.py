from django.core.management.base import BaseCommand

from alerts import selectors
from alerts.payloads import threshold_shown


class Command(BaseCommand):
    help = "List the alert rules: channel, kind, plan, threshold, whether on, how often and when last fired."

    def handle(self, *args, **options):
        rules = selectors.rules_list()
        if not rules:
            self.stdout.write("no alert rules (manage.py add_webhook creates some)")
            return
        rows = [("CHANNEL", "KIND", "PLAN", "THRESHOLD", "STATE", "FIRED", "LAST FIRED")]
        for r in rules:
            threshold = "" if r.threshold is None else str(threshold_shown(r.threshold))
            if r.window_minutes:
                threshold += f" over {r.window_minutes} min"
            state = "channel disabled" if not r.channel.enabled else ("on" if r.enabled else "off")
            last = r.last_fired.strftime("%Y-%m-%d %H:%M:%S UTC") if r.last_fired else "never"
            rows.append((f"{r.channel.name} ({r.channel.kind})", r.kind, r.plan_id or "(all)", threshold, state,
                         str(r.fired), last))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
