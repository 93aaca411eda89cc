"""The health data hub: catalogue, projects reviewed in the open, opt-outs, extracts."""
