"""Materials: uploads, the citizen's vault, issued e-licences, who may read a file."""
