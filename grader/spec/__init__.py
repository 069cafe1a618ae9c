"""Exercise specifications: pydantic models of the YAML files and their loading."""
