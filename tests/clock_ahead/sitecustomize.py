"""Moves the clock of every Python process the suite starts (`lianxin`, gunicorn and
its workers) as far ahead as the suite's own, when it runs with
LIANXIN_TEST_CLOCK_AHEAD_DAYS set: a test that passes only near the day it was written
fails there. The suite puts this folder on PYTHONPATH only in that mode."""

import os

_DAYS = os.environ.get("LIANXIN_TEST_CLOCK_AHEAD_DAYS")
if _DAYS:
    import time
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=int(_DAYS)), tick=True).start()
    # A ticking clock starts ticking when first read, not when moved: read it now, or
    # this process runs behind the suite by its start-up time (and refuses the suite's
    # access tokens as issued in the future).
    time.time()
