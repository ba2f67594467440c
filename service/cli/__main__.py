"""`python -m service.cli`: the newsletter command."""

from service.cli import main

main()
