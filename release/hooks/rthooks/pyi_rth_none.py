# Stands in for PyInstaller's run-time hooks of multiprocessing and inspect (release/hooks/rthooks.dat).
# Those import their module, and zipfile, at every start (about 90 million instructions, a quarter
# of `--help`), for cases the plugin never meets: multiprocessing's helper processes (the plugin
# starts none; the official client only makes a thread pool) and inspect.getsource on frozen code.
