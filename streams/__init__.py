"""Stream topology: Faust app, topics, tables, config, event time, brokers, CLI."""
