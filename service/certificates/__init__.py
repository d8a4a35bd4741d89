"""志愿服务记录与证明: a member's service records (every approved participation) and the
certificates issued on them, with their PDF and public verification."""
