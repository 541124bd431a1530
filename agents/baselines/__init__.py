"""baselines stage: pure modules plus one thin Faust module."""
