"""PyInstaller's entry point: the same main() as the console script."""
from kubectl_egress.cli import main

main()
