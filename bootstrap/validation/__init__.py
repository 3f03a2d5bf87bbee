"""``gridbot validate``: the bot tested end to end against the emulator, faults and kills.

The bot runs as a separate process in live mode through the real Binance adapter against the
emulator (hosted in this process at an accelerated clock) while a seeded schedule injects
every fault the emulator supports and kills the bot with SIGKILL, restarting it each time;
a final SIGTERM must leave the account flat. Then the bot's journal and logs are compared
with the emulator's own books, and a report (JSON, Markdown, plots) says what held.

Modules, one job each: :mod:`.schedule` (the seeded plan), :mod:`.emulator_host` (the
emulator on its own event-loop thread), :mod:`.bot_process` (spawn, kill, restart, RSS),
:mod:`.books` / :mod:`.journal` / :mod:`.logs` (what each side recorded, as plain data),
:mod:`.ground_truth` (the checks), :mod:`.runner` (the timeline), :mod:`.summary` (survival
of each fault and the report's figures), :mod:`.report` (JSON, Markdown, plots) and
:mod:`.command` (the CLI entry).
"""
