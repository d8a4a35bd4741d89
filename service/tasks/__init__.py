"""Tasks that staff post and members do (任务)."""
