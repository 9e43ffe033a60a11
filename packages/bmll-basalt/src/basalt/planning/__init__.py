"""Planning a run: date batches, symbol batches, input preparation and the task list."""
