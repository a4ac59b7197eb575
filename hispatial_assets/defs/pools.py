"""Waiting for a pool slot (the ``gpu`` pool) without spinning, and without ignoring SIGTERM.

Dagster 1.13.27 busy-waits while a step is blocked by a pool limit: ``interval_to_next_pending_claim_check``
returns ``min(0, ...)``, never a positive interval, so the in-process executor's ``sleep_til_ready``
never sleeps, and the multiprocess executor's loop has no sleep at all when only blocked steps are
left. A blocked run burns a core, and (in process) the SIGTERM that Dagster captures is never looked
at until a slot frees up, which after a leaked slot is never.

``install()`` wraps two methods, idempotently:

- a claim that stays blocked waits until that step's next check is due (at most ``MAX_WAIT_S``)
  before returning, unless an interrupt is pending;
- ``ActiveExecution.sleep_til_ready`` (called only by the in-process executor, between blocked
  claims) raises the captured interrupt as Dagster does inside steps, so the run ends as
  interrupted and its pending claims are released.

The multiprocess executor checks for interrupts itself at the top of its loop.
"""

from __future__ import annotations

import functools
import time

from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._utils.interrupts import check_captured_interrupt, pop_captured_interrupt

MAX_WAIT_S = 1.0
_MARK = "_hispatial_waits_without_spinning"


def install() -> None:
    if getattr(InstanceConcurrencyContext.claim, _MARK, False):
        return
    claim, sleep_til_ready = InstanceConcurrencyContext.claim, ActiveExecution.sleep_til_ready

    @functools.wraps(claim)
    def claim_or_wait(self, concurrency_key: str, step_key: str, step_priority: int = 0) -> bool:
        if claim(self, concurrency_key, step_key, step_priority):
            return True
        due = self._pending_timeouts.get(step_key)  # when Dagster will ask the database again
        if due is not None and not check_captured_interrupt():
            time.sleep(min(max(due - time.time(), 0.0), MAX_WAIT_S))
        return False

    @functools.wraps(sleep_til_ready)
    def sleep_or_stop(self) -> None:
        if check_captured_interrupt():
            pop_captured_interrupt()
            raise DagsterExecutionInterruptedError("interrupted while waiting for a pool slot")
        sleep_til_ready(self)

    setattr(claim_or_wait, _MARK, True)
    InstanceConcurrencyContext.claim = claim_or_wait
    ActiveExecution.sleep_til_ready = sleep_or_stop
