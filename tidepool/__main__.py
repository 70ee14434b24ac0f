from tidepool.cli import main

main()
