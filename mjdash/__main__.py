from mjdash.cli import main

raise SystemExit(main())
