"""Cryptography Keyhook needs: sealed secrets, password and token hashes,
webhook signatures. Pure functions and small classes; imports nothing of Keyhook
above ``errors``."""
