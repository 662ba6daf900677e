"""The workflow: submit, route, transitions, supplements, deadlines, ETA, assisted handling."""
