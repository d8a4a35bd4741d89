"""Photos people hand in with their work (上传照片)."""
