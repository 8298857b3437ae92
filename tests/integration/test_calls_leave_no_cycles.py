"""What calls between desk phones leave in the server is freed by reference counting alone.
The serving process freezes what survives each 20 ms collection and collects everything only
when the node is quiet (`softswitch/collector.py`): a call whose objects formed a reference
cycle would stay in memory under steady load for up to a day."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from softswitch.server import Softswitch

from .calling import dial, registered

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]


@pytest.mark.usefixtures("no_automatic_collection")
async def test_answered_busy_and_cancelled_calls_leave_nothing_for_the_cycle_collector(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    bob = await registered(phone_agent_factory, switch, "bob", "5551002", "two-secret")
    # answered, then hung up by the caller
    await bob.aio.set_auto_answer("bob", "answer")
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "CONFIRMED")
    await alice.aio.hangup(call)
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    # busy
    await bob.aio.set_auto_answer("bob", "reject", code=486)
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    # cancelled while it rings
    await bob.aio.set_auto_answer("bob", "ring")
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await bob.aio.wait_event("incoming_call")
    await alice.aio.hangup(call)
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    await asyncio.sleep(0.5)  # the last responses and the call records on their way

    # every transaction waits out its timers (64*T1 at most), then ends
    later = asyncio.get_running_loop().time() + 3600
    switch.endpoint._dispatch(switch.endpoint.table.handle_timers(later))
    await switch.store.flush()
    assert len(switch.endpoint.table) == 0
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collection finds is kept to be looked at
    gc.collect()
    ours = [o for o in gc.garbage if type(o).__module__.startswith("softswitch")]
    assert ours == []
