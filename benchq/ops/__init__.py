"""Operations: Flower behind basic auth, and the nightly scheduler.

Each module holds a click command the `benchq` CLI registers
(`benchq.ops.flower:flower`, `benchq.ops.schedule:schedule`) and the plain
functions behind it, which the tests call directly.
"""
