"""Functions the README's pipeline examples call, as `example_steps.<module>.<function>`."""
