"""Where the bytes of files live: storage locations (``STORAGE_LOCATIONS``), each a driver (``local``, ``s3``).

A driver stores objects by a relative key (``filename_disk``); the services never see paths or buckets. Writes
stream through a ``Writer`` whose blocking methods run in a worker thread (``tidepool.storage.upload``), so
an upload of any size holds at most one buffer in memory and never stalls the event loop.
"""
