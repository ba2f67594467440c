"""Bounces and complaints: the one delivery policy, VERP, parsing reports and applying what they say."""
