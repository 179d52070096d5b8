"""The `ccledger` command line."""
