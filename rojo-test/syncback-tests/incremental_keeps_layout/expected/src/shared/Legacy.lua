return 'changed'
