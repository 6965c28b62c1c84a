"""HTTP surfaces of conversions: the Common application API (001) and the Data 2 Data services (000)."""
