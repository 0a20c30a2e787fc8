"""Operations of the service (backup, restore, download, delete, cleanup, settings), free of HTTP."""
