"""Benchmarks of the softswitch against sipp, with Kamailio as the reference.

    python -m bench [calls|register|memory|routing|all] [--quick]

See `bench/README.md` for what each benchmark measures and how the figures are read.
"""
