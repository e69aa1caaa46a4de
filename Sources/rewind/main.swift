import RewindCLI

Rewind.main()
