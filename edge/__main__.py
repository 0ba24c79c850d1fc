"""`python -m edge` is the `gma-edge` command; the supervisor starts children this way."""

from edge.cli import main

raise SystemExit(main())
