"""Reproducible load benchmarks for Tidepool (``make bench``); see bench/README.md."""
