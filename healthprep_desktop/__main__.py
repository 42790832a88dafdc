from healthprep_desktop.cli import main

raise SystemExit(main())
