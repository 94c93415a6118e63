"""Parts of benchmarks/get_session.py: servers in subprocesses, load, backends, timing, tables."""
