import sys

from tests.bench.http.run import main

sys.exit(main())
