"""Performance workloads for gradlens_core and gradlens (run by hand: ``python -m benchmarks``)."""
