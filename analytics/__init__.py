"""Offline analysis of recordings: metrics of trade logs (reports and plots build on these).

Reads LMDB through `storage`, never imports `supervisor`.
"""
