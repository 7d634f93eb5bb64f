"""The shipped benchmark: `./bootstrap.sh bench` runs `python -m bench.run` and prints one table."""
