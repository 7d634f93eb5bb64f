"""The domain both processes share: books, jobs, accounts, and the rules every one of them uses."""
