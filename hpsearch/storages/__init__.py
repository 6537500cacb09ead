"""Where a study lives: its database (SQLite or a server), the trial records kept in
it, the queue of slots to run again, and the files beside it (data, models); one
handle over all of them for each study (``handle.StudyStorage``).
"""
