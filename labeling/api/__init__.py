"""HTTP endpoints of labeling: 003's tasks and commits, picture upload and files, exports."""
