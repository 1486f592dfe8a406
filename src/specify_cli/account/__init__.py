"""The account: who is logged in where, their tokens, and which offline queue is theirs.

`credentials` logs in, stores and refreshes the session; `session` sends authenticated
requests (one refresh after a 401); `scope` maps an account to its queue; `adopt` runs after
a login. The sync engine and the commands use these modules; none of them prints.
"""
