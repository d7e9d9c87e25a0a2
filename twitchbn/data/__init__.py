"""The shipped knowledge base (YAML files); see docs/knowledge-format.md."""
