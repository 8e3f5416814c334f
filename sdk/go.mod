module github.com/bahasha/bahasha/sdk

go 1.26.0
