import sys

from live_daemon.venues.interactive_brokers.standin.cli import main

sys.exit(main())
