"""Pipeline stages, one package each."""
