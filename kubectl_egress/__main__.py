from kubectl_egress.cli import main

main()
