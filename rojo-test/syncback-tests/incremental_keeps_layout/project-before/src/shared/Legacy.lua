return 'old'
