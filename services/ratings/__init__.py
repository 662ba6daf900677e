"""Ratings (好差评): citizens rate finished work; a low rating opens a rectification case."""
